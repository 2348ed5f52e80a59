"""masking: masked calling on Asterisk."""
