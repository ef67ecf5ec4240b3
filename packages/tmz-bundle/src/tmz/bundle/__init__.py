"""tmz bundle: Build, inspect and verify .task/.litertlm bundles and catalogs."""
