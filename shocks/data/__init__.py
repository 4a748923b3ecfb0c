"""Package data of ``shocks``: the bundled market history and the script that builds it."""
