-- The release of lua-oss: the one place the version is written (the rockspecs and --version are checked against it).
return "0.1.0"
