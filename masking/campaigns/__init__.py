"""Order-confirmation campaigns (seed 003): orders, rules, attempt policy, dialing."""
