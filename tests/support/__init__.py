"""Real servers and helpers the tests drive: sshd jumphosts, targets, MariaDB."""
