"""Models: find them on disk or fetch them, compile them with OpenVINO, adapt their outputs."""
