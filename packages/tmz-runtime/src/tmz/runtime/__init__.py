"""tmz runtime: Translate with a bundle on LiteRT-LM."""
