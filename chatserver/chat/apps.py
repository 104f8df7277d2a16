from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "chatserver.chat"
    label = "chat"
    verbose_name = "Chat"
