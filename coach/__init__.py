"""coach: mock interviews for backend developers, graded against rubrics with quoted evidence."""
