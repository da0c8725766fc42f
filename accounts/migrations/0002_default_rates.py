from django.db import migrations

# France: 1 credit per segment (the product's unit). Every other country ("ZZ", the
# "unknown region" of phonenumbers) defaults to 2; support staff edit both in admin.
DEFAULT_RATES = {"FR": 1, "ZZ": 2}


def create_default_rates(apps, schema_editor):
    CountryRate = apps.get_model("accounts", "CountryRate")
    for region, credits in DEFAULT_RATES.items():
        CountryRate.objects.get_or_create(region=region, defaults={"credits_per_segment": credits})


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [migrations.RunPython(create_default_rates, migrations.RunPython.noop)]
