from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations"

    def ready(self) -> None:
        from . import (
            receivers,  # noqa: F401  (connects the shop's signals)
            tasks,  # noqa: F401  (registers the tasks the chord names, also eagerly)
        )
        from .api import (
            auth,  # noqa: F401  (drops a cached token user when the token or user changes)
            throttling,  # noqa: F401  (registers its shared-cache check)
        )
