"""Who is calling and what they may do: principals, app roles, permissions, bearer tokens."""
