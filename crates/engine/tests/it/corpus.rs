// filled in when the corpus lands
