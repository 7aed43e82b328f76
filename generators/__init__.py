"""The three Cloud Run Job generators: sales -> Firestore, clickstream and startups -> bronze."""
