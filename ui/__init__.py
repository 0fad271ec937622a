"""The Qt front end (PySide6 + qasync): widgets and Qt models only; logic lives in fastsheet/."""
