"""Routes of the sandbox: GHL's vendor routes by resource, and the ``/_sandbox/`` controls."""
