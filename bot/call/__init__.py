"""Call control: one outbound or inbound call over ARI, its media path and its outcome."""
