"""Query kinds beyond plain nearest: recommend, discover, context, MMR, sample, feedback."""
