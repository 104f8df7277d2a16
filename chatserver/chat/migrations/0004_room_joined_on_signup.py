from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0003_connection_connected_at_db_default"),
    ]

    operations = [
        migrations.AddField(
            model_name="room",
            name="joined_on_signup",
            field=models.BooleanField(default=False),
        ),
    ]
