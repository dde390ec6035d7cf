"""Operations: what an operator watches. Prometheus metrics (`metrics`), the /health report
(`health`) and JSON log lines with the call id and masked phone numbers (`logs`)."""
