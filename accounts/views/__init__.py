"""Account pages: signing in and out, passwords, the profile, and people management."""
