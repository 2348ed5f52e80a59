"""Call-centre work: cases (appeals, confirmations, identifications) about one customer,
their attempts (calls through the masked paths, outcomes from Asterisk's events), the rules
that decide which status a person may set, and the events sent to the upstream system."""
