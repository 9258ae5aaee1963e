pub fn link() {}
