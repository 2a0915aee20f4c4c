"""Question banks, quizzes, attempts, grading and item analysis."""
