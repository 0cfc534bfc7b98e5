"""What this site writes into an offline bundle for another site (peer/bundle.py)."""
