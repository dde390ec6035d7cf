"""What the bot sounds like: the content-addressed audio cache, rendering, and serving it."""
