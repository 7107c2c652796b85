package etcdstore

// HeaderRecord exposes headerRecord to the benchmarks, which seed many
// objects in large transactions.
var HeaderRecord = headerRecord
