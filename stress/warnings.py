"""The package's own warning category (tests turn it into errors)."""


class StressWarning(UserWarning):
    """Something was computed but deserves attention (e.g. a solver did not converge)."""
