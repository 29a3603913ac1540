"""data: a folder of photos -> a prepared, aligned, labelled, identity-split face set."""
