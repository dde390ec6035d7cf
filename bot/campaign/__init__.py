"""Campaigns: their lifecycle, the dialer that works through their attempts, retries and
callbacks, exports."""
