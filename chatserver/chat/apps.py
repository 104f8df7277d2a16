from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chatserver.chat"
    label = "chat"
    verbose_name = "Chat"

    def ready(self) -> None:
        from django.core.signals import got_request_exception
        from django.db.backends.signals import connection_created

        from chatserver.chat import health

        # A damaged SQLite file is noticed on any statement and then written no more.
        connection_created.connect(health.install_guard, dispatch_uid="deskchat-health-guard")
        got_request_exception.connect(
            health.report_request_error, dispatch_uid="deskchat-health-http"
        )
