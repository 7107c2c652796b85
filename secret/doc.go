// Package secret holds the small words every part of palyra shares: a secret
// value that never prints itself (SensitiveBytes), the address of a secret
// (Ref: a scope and a key, with their grammar and the "vault://" form),
// where a user's palyra state lives (StateRoot), and which environment
// variables carry key material (KeyMaterialEnv), which no program palyra
// starts gets unless asked for by name.
//
// It imports nothing but the standard library's lightest packages, so that a
// client of the daemon, a configuration checker or any other small program
// can speak of secrets without linking the vault's backends, key derivation
// or D-Bus. The vault package uses these same types and sentinels.
package secret
