from django.urls import path

from chatserver.chat import views

app_name = "chat"
urlpatterns = [
    path("", views.room_list, name="rooms"),
    path("<str:name>/", views.room_page, name="room"),
]
