"""What frugal computes from results: repeated runs, comparisons, scaling, indicators and grades, profiles."""
