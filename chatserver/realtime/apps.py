from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    """No models: an app only so its signal receivers are connected in every process (the
    server, its workers, and ``manage`` commands that deactivate someone on Redis)."""

    name = "chatserver.realtime"
    label = "realtime"
    verbose_name = "Real time"

    def ready(self) -> None:
        from chatserver.realtime import access  # noqa: F401  (connects its receiver)
