"""Contests (hội thi) on the quiz engine: set-up, rounds, ranking, prizes, statistics, results sheets."""
