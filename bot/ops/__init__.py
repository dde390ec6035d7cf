"""Operations: what an operator watches. Prometheus metrics (`metrics`), the /health report
(`health`), JSON log lines with the call id and masked phone numbers (`logs`), and low-priority
threads for background work (`priority`)."""
