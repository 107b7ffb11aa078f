# Firestore (native mode): sources/{id}/days/{YYYY-MM-DD}, one document per source per
# day. Raw day documents expire through a TTL policy on `expire_at` (set by the
# collector to the day + retention_days); daily aggregates are kept.

resource "google_firestore_database" "main" {
  project     = var.project_id
  name        = local.firestore_db
  location_id = local.firestore_loc
  type        = "FIRESTORE_NATIVE"

  # The history is the product: a stray `terraform destroy` must not delete it.
  # Destroy leaves the database in place (deletion_policy ABANDON); docs/deploy.md ("Tear down") says
  # how to delete it on purpose, and how a later apply takes it back (one import).
  delete_protection_state = "DELETE_PROTECTION_ENABLED"
  deletion_policy         = "ABANDON"

  # Reads of any minute of the last 7 days: a bad write or delete can be undone
  # (billed as storage, outside the free tier: docs/deploy.md, "What it costs").
  point_in_time_recovery_enablement = var.point_in_time_recovery ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"

  depends_on = [time_sleep.apis_enabled]
}

# The fields below (TTL, index exemptions, the one collection-group index) are settings
# of the database, not things of their own: Firestore cannot delete a field, so the
# provider's destroy clears its TTL and index settings. The database outlives a destroy
# (above) and these do not, so docs/deploy.md's tear-down takes them out of the state first;
# an apply writes them again either way (creating a field is an update).

# TTL on the collection group `days`. `index_config {}` also turns off the automatic
# single-field index of `expire_at`: nothing queries it, and an index on an
# ever-increasing timestamp only costs writes.
resource "google_firestore_field" "days_expire_at" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "days"
  field      = "expire_at"

  ttl_config {}
  index_config {}
}

resource "google_firestore_backup_schedule" "daily" {
  project   = var.project_id
  database  = google_firestore_database.main.name
  retention = "${var.backup_retention_days * 86400}s"

  daily_recurrence {}
}

# Nothing queries inside a day's `samples` map (the store reads whole day documents,
# by `date`), so its entries need no index: without this, Firestore would index every
# sample's every field by default, which costs storage (billed beyond 1 GiB).
resource "google_firestore_field" "days_samples" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "days"
  field      = "samples"

  index_config {}
}

# Failed samples live beside the ok ones, in `failures.{HHMM}` (a failure never
# replaces a stored success of the same tick): nothing queries inside it either.
resource "google_firestore_field" "days_failures" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "days"
  field      = "failures"

  index_config {}
}

# `last_tick`: a field earlier versions wrote to every day document (never queried);
# exempt so that the documents that still carry it cost no index entries.
resource "google_firestore_field" "days_last_tick" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "days"
  field      = "last_tick"

  index_config {}
}

# The renderer asks the collection group `days` for the documents written since its
# last run (`written > mark`, store.changed_days): a range over a collection group
# needs a single-field index of that scope, which Firestore does not create by itself.
resource "google_firestore_field" "days_written" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "days"
  field      = "written"

  index_config {
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION_GROUP"
    }
  }
}

# The alert state (alerts/state, and alerts/state-N shards past 1,000 sources) is a
# compressed blob per document, read whole by its path.
resource "google_firestore_field" "alerts_blob" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "alerts"
  field      = "blob"

  index_config {}
}

# The renderer's documents (render/state, groups/*/render/aggregates and its parts, and
# the older sources/*/render/aggregates: all in collections named `render`) are one
# compressed blob each, read whole by their path.
resource "google_firestore_field" "render_blob" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "render"
  field      = "blob"

  index_config {}
}

# --- group-hour documents (groups/{group}/hours/{hour}): where collected samples go -----

# TTL on the collection group `hours`, as on `days`; `index_config {}` as there.
resource "google_firestore_field" "hours_expire_at" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "hours"
  field      = "expire_at"

  ttl_config {}
  index_config {}
}

# Nothing queries inside the samples maps: an hour of 25 sources every minute would
# otherwise be some 20,000 index entries (Firestore allows 40,000 a document).
resource "google_firestore_field" "hours_samples" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "hours"
  field      = "samples"

  index_config {}
}

resource "google_firestore_field" "hours_failures" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "hours"
  field      = "failures"

  index_config {}
}

# When each source was last written in the document (the renderer tells a source's
# news from its group's): read whole, never queried.
resource "google_firestore_field" "hours_touched" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "hours"
  field      = "touched"

  index_config {}
}

# The renderer's change query over the collection group `hours` (written > mark).
resource "google_firestore_field" "hours_written" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "hours"
  field      = "written"

  index_config {
    indexes {
      order       = "ASCENDING"
      query_scope = "COLLECTION_GROUP"
    }
  }
}

# One source's history (export, the first render's fold, summaries): the group-hour
# documents whose `sources` array holds it, in hour order, either way.
resource "google_firestore_index" "hours_by_source" {
  project     = var.project_id
  database    = google_firestore_database.main.name
  collection  = "hours"
  query_scope = "COLLECTION_GROUP"

  fields {
    field_path   = "sources"
    array_config = "CONTAINS"
  }
  fields {
    field_path = "hour"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "hours_by_source_newest_first" {
  project     = var.project_id
  database    = google_firestore_database.main.name
  collection  = "hours"
  query_scope = "COLLECTION_GROUP"

  fields {
    field_path   = "sources"
    array_config = "CONTAINS"
  }
  fields {
    field_path = "hour"
    order      = "DESCENDING"
  }
}

# A list source's entries (sources/{id}/entries/state, alerts/entries.py) are read whole
# by their path: the seen set (an array of up to 1,000 keys, each an index entry by
# default), the latest entries and their deliveries need no index.
resource "google_firestore_field" "entries_seen" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "entries"
  field      = "seen"

  index_config {}
}

resource "google_firestore_field" "entries_latest" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "entries"
  field      = "latest"

  index_config {}
}

resource "google_firestore_field" "entries_told" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "entries"
  field      = "told"

  index_config {}
}

# --- the fan-out's documents (functions/tally/fanout/completion.py) -----------------------
#
#   fanout/{kind}-{tick}                    one per tick (or render) split into shards
#   fanout/{kind}-{tick}/shards/{i}-{part}  what each shard left for the run's last step

# TTL on the collection `fanout`, as on `days` and `hours`: a run's document is no use
# once its shards are in, and `expire_at` (its tick + 2 days) lets Firestore delete it.
# `index_config {}` drops the automatic index of `expire_at`, which nothing queries.
# `sweep_at`, which the sweep of runs a lost shard left open queries by range (a
# collection query: Firestore's automatic single-field index), keeps its index: nothing
# here exempts it.
resource "google_firestore_field" "fanout_expire_at" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "fanout"
  field      = "expire_at"

  ttl_config {}
  index_config {}
}

# Which shards are in (`done.{index}`): read whole with the run's document, never queried.
resource "google_firestore_field" "fanout_done" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "fanout"
  field      = "done"

  index_config {}
}

# A shard's payload parts expire with their run: TTL on the collection group `shards`.
resource "google_firestore_field" "shards_expire_at" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "shards"
  field      = "expire_at"

  ttl_config {}
  index_config {}
}

# A payload part is a compressed blob (up to about 1 MB), read whole by its path.
resource "google_firestore_field" "shards_blob" {
  project    = var.project_id
  database   = google_firestore_database.main.name
  collection = "shards"
  field      = "blob"

  index_config {}
}
