"""Customer lookup: a Megadesk integration that shows the ticket's customer from the tenant's
own JSON API and adds notes to it. The API it expects is described in the README."""
