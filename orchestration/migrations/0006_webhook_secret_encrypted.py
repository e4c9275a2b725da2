from django.db import migrations, models

from orchestration.encryption import InvalidToken, decrypt, encrypt


def encrypt_webhook_secrets(apps, schema_editor):
    """Webhook secrets were stored as they are: store their encryption instead."""
    Workflow = apps.get_model("orchestration", "Workflow")
    for workflow in Workflow.objects.exclude(webhook_secret=""):
        try:
            decrypt(workflow.webhook_secret)
            continue  # already encrypted
        except InvalidToken:
            workflow.webhook_secret = encrypt(workflow.webhook_secret)
        workflow.save(update_fields=["webhook_secret"])


def decrypt_webhook_secrets(apps, schema_editor):
    Workflow = apps.get_model("orchestration", "Workflow")
    for workflow in Workflow.objects.exclude(webhook_secret=""):
        workflow.webhook_secret = decrypt(workflow.webhook_secret)
        workflow.save(update_fields=["webhook_secret"])


class Migration(migrations.Migration):

    dependencies = [
        ('orchestration', '0005_outbox_runs_named_tasks'),
    ]

    operations = [
        migrations.AlterField(
            model_name='workflow',
            name='webhook_secret',
            field=models.TextField(blank=True, editable=False, help_text='HMAC-SHA256 key for the inbound webhook, encrypted (orchestration.encryption); empty disables it.'),
        ),
        migrations.RunPython(encrypt_webhook_secrets, decrypt_webhook_secrets),
    ]
