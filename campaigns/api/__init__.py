"""REST endpoints of the campaigns app: messages, campaigns, contacts and lists."""
