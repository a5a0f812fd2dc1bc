"""Call-center integration server: drives Asterisk over AMI and tracks every call."""

__version__ = "0.1.0"
