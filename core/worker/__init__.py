"""The background worker: claims jobs from SQLite and trains, embeds and projects."""
