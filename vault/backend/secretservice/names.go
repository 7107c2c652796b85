package secretservice

// D-Bus names, object paths and interfaces of the freedesktop Secret Service
// API (https://specifications.freedesktop.org/secret-service/) and of the
// message bus itself.
const (
	// serviceName is the well-known bus name a Secret Service provider owns.
	serviceName = "org.freedesktop.secrets"
	// servicePath is the object path of the Service object.
	servicePath = "/org/freedesktop/secrets"
	// defaultAlias is the alias of the collection we store items in.
	defaultAlias = "default"
	// noPrompt is the object path a method returns when it needs no prompt,
	// and ReadAlias returns when an alias is not set.
	noPrompt = "/"

	ifaceService    = "org.freedesktop.Secret.Service"
	ifaceCollection = "org.freedesktop.Secret.Collection"
	ifaceItem       = "org.freedesktop.Secret.Item"
	ifaceSession    = "org.freedesktop.Secret.Session"
	ifacePrompt     = "org.freedesktop.Secret.Prompt"
	ifaceProperties = "org.freedesktop.DBus.Properties"

	methodOpenSession   = ifaceService + ".OpenSession"
	methodReadAlias     = ifaceService + ".ReadAlias"
	methodUnlock        = ifaceService + ".Unlock"
	methodServiceSearch = ifaceService + ".SearchItems"
	methodGetSecrets    = ifaceService + ".GetSecrets"
	methodCreateItem    = ifaceCollection + ".CreateItem"
	methodSearchItems   = ifaceCollection + ".SearchItems"
	methodGetSecret     = ifaceItem + ".GetSecret"
	methodSetSecret     = ifaceItem + ".SetSecret"
	methodItemDelete    = ifaceItem + ".Delete"
	methodSessionClose  = ifaceSession + ".Close"
	methodPrompt        = ifacePrompt + ".Prompt"
	methodPromptDismiss = ifacePrompt + ".Dismiss"
	methodPropertiesGet = ifaceProperties + ".Get"
	methodPropertiesAll = ifaceProperties + ".GetAll"
	signalCompleted     = "Completed"

	// Properties passed to CreateItem (qualified by interface) and read
	// from items and collections (plain names).
	propItemLabel      = ifaceItem + ".Label"
	propItemAttributes = ifaceItem + ".Attributes"
	propLabel          = "Label"
	propAttributes     = "Attributes"
	propItemModified   = "Modified"
	propItemCreated    = "Created"
	propLocked         = "Locked"

	// Algorithms of OpenSession. algDH is the encrypted transport: a
	// Diffie-Hellman exchange in the 1024-bit MODP group of RFC 2409,
	// HKDF-SHA256 to a 16-byte key, AES-128-CBC with PKCS#7 padding.
	algDH    = "dh-ietf1024-sha256-aes128-cbc-pkcs7"
	algPlain = "plain"

	// Error names a Secret Service provider or the bus returns.
	errNameIsLocked       = "org.freedesktop.Secret.Error.IsLocked"
	errNameNoSuchObject   = "org.freedesktop.Secret.Error.NoSuchObject"
	errNameNotSupported   = "org.freedesktop.DBus.Error.NotSupported"
	errNameServiceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
	errNameNameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner"
	errNameUnknownObject  = "org.freedesktop.DBus.Error.UnknownObject"
	errNameUnknownMethod  = "org.freedesktop.DBus.Error.UnknownMethod"
	errNameNoReply        = "org.freedesktop.DBus.Error.NoReply"
	errNameTimeout        = "org.freedesktop.DBus.Error.Timeout"
	errNameTimedOut       = "org.freedesktop.DBus.Error.TimedOut"
	errNameDisconnected   = "org.freedesktop.DBus.Error.Disconnected"
	errNameNoSession      = "org.freedesktop.Secret.Error.NoSession"

	// The message bus itself.
	busName                    = "org.freedesktop.DBus"
	busPath                    = "/org/freedesktop/DBus"
	methodNameHasOwner         = busName + ".NameHasOwner"
	methodGetNameOwner         = busName + ".GetNameOwner"
	methodListActivatableNames = busName + ".ListActivatableNames"
	methodStartServiceByName   = busName + ".StartServiceByName"
)

// Item attributes. Every item this backend writes carries exactly the schema
// and object id (and the vault, when Options.Vault is set), so that a search
// on them finds one object and CreateItem's replace flag (which providers
// match on attributes) replaces it, whoever wrote it.
const (
	// AttrSchema is the libsecret schema attribute.
	AttrSchema = "xdg:schema"
	// Schema is the value of AttrSchema on every item of this backend.
	Schema = "dev.palyra.vault"
	// AttrObjectID holds the backend.ObjectID of the item.
	AttrObjectID = "palyra-object-id"
	// AttrVault holds the vault identifier of Options.Vault.
	AttrVault = "palyra-vault"
	// contentType is the content type of every secret we write; values are
	// opaque binary envelopes.
	contentType = "application/octet-stream"
)
