"""A store's history across commits: the commits' order, what a ref names, each name's runs per commit."""
