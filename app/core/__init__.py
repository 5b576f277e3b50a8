"""Pure logic, no I/O: profiles, events, supervision rules, parsers, budgets."""
