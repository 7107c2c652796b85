package vault

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/palyra/palyra-vault/secret"
	"github.com/palyra/palyra-vault/vault/internal/envelope"
)

// A backup is the plaintext below, encrypted by a BackupSealer and
// decrypted by a BackupOpener. Palyra's are in package vault/backup: an age
// file (filippo.io/age, https://age-encryption.org/v1) encrypted to a
// passphrase (an scrypt recipient) or to age recipients. Package vault
// does not import age itself, so that a program that links the vault but
// never exports or imports a backup does not pay age's start-up cost.
//
// The plaintext is UTF-8 text, one item per line, each line ending in LF:
//
//	palyra-vault backup v1
//	{"scope":"global","key":"openai_api_key","created":"2026-01-02T03:04:05.000000006Z","updated":"…","value":"<standard base64>"}
//	…one line per secret…
//	end <number of secrets>
//
// Times are RFC 3339 with nanoseconds, in UTC. The encryption (age)
// authenticates every byte and detects truncation; the end line makes the
// count explicit. Import reads and checks the whole backup before it
// writes anything.

const (
	backupMagic = "palyra-vault backup v1"
	// maxBackupLine bounds one line of a backup: a value of 16 MiB in
	// base64 plus its names and times.
	maxBackupLine = 22 << 20
	// maxBackupSize bounds the decrypted size of a backup Import accepts,
	// since it holds every value in memory before writing.
	maxBackupSize = 1 << 30
)

// ErrBadBackup means a backup could not be decrypted or is not a valid
// backup: truncated, altered, or not a palyra-vault backup. A wrong
// passphrase is reported as ErrWrongPassphrase instead.
var ErrBadBackup = errors.New("invalid backup")

// A BackupSealer encrypts a backup on its way to a file. Package
// vault/backup provides palyra's: backup.ToPassphrase and
// backup.ToRecipients.
type BackupSealer interface {
	// Seal returns a writer that encrypts what is written to it onto w.
	// Export writes the whole plaintext through it, then closes it; Close
	// finishes the encrypted file. Seal may ask for a passphrase; its
	// errors must not show one.
	Seal(w io.Writer) (io.WriteCloser, error)
}

// A BackupOpener decrypts a backup. Package vault/backup provides palyra's:
// backup.FromPassphrase and backup.FromIdentities.
type BackupOpener interface {
	// Open returns a reader of the plaintext of the backup read from r. A
	// backup it cannot decrypt is an error that wraps ErrWrongPassphrase
	// (a passphrase that does not open it) or ErrBadBackup (anything
	// else); its errors must not show a passphrase. The reader's own
	// errors mean a truncated or altered backup: Import reads the
	// plaintext to its end, so that the opener authenticates every byte
	// before anything is written.
	Open(r io.Reader) (io.Reader, error)
}

// ErrConflict means Import found secrets that already exist in the vault
// and OnConflict is "fail".
var ErrConflict = errors.New("secret already exists")

// ExportOptions configure Export. Sealer is required.
type ExportOptions struct {
	// Scope limits the backup to the secrets of one scope; "" means all.
	Scope string
	// Sealer encrypts the backup: backup.ToPassphrase or
	// backup.ToRecipients of package vault/backup. Export writes to its
	// io.Writer only through Sealer.
	Sealer BackupSealer
	// SkipUnreadable exports the secrets that can be read and lists the
	// others in the report, instead of failing when one cannot be read.
	SkipUnreadable bool
}

// ExportReport says what Export wrote.
type ExportReport struct {
	// Secrets counts the secrets in the backup.
	Secrets int `json:"secrets"`
	// Skipped names the secrets left out because they could not be read
	// (only with SkipUnreadable), with the reason.
	Skipped []string `json:"skipped,omitempty"`
}

// Conflict policies of Import.
const (
	// OnConflictFail makes Import fail, writing nothing, when any secret of
	// the backup already exists. It is the default.
	OnConflictFail = "fail"
	// OnConflictSkip keeps existing secrets and imports the others.
	OnConflictSkip = "skip"
	// OnConflictOverwrite replaces existing secrets with the backup's.
	OnConflictOverwrite = "overwrite"
)

// ImportOptions configure Import. Opener is required.
type ImportOptions struct {
	// Opener decrypts the backup: backup.FromPassphrase or
	// backup.FromIdentities of package vault/backup.
	Opener BackupOpener
	// OnConflict is "fail" (or ""), "skip" or "overwrite".
	OnConflict string
}

// ImportReport says what Import did.
type ImportReport struct {
	// Imported counts secrets written that did not exist; Overwritten
	// those that replaced an existing secret; Skipped existing secrets
	// left alone.
	Imported    int `json:"imported"`
	Overwritten int `json:"overwritten"`
	Skipped     int `json:"skipped"`
}

type backupRecord struct {
	Scope   string    `json:"scope"`
	Key     string    `json:"key"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	Value   []byte    `json:"value"`
}

func wipeRecords(recs []backupRecord) {
	for i := range recs {
		clear(recs[i].Value)
	}
}

// Export writes every secret of the vault (or of opts.Scope), with its
// scope, key, creation and update times, into one backup on w, encrypted
// by opts.Sealer (nil is an error, with nothing written): w gets no byte
// but what the sealer writes. It reads every secret before writing a byte, so a secret that cannot be
// read makes it fail, naming each one, with nothing written (unless
// SkipUnreadable). Values are held in memory while exporting and wiped
// afterwards. Export takes no lock: a secret changed meanwhile is exported
// as it was when read.
func (v *Vault) Export(ctx context.Context, w io.Writer, opts ExportOptions) (ExportReport, error) {
	var rep ExportReport
	if opts.Sealer == nil {
		return rep, errors.New("exporting: no sealer to encrypt the backup (ExportOptions.Sealer is nil); nothing was written: " +
			"give one, such as backup.ToPassphrase or backup.ToRecipients of package vault/backup")
	}
	if opts.Scope != "" {
		if err := secret.ValidateScope(opts.Scope); err != nil {
			return rep, err
		}
	}
	if err := v.Unlock(ctx); err != nil { // once, not at every Get
		return rep, err
	}
	list, err := v.List(ctx, opts.Scope)
	var unreadable []string
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			return rep, err
		}
		unreadable = append(unreadable, err.Error())
	}
	recs := make([]backupRecord, 0, len(list))
	defer func() { wipeRecords(recs) }()
	for _, m := range list {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		s, md, err := v.Get(ctx, m.Scope, m.Key)
		if errors.Is(err, ErrNotFound) {
			continue // deleted since List
		}
		if err != nil {
			unreadable = append(unreadable, err.Error())
			continue
		}
		recs = append(recs, backupRecord{Scope: md.Scope, Key: md.Key, Created: md.Created, Updated: md.Updated, Value: s.Reveal()})
	}
	if len(unreadable) > 0 {
		if !opts.SkipUnreadable {
			return rep, fmt.Errorf("%w: exporting: %d secrets cannot be read, so no backup was written: %s; run palyra secrets verify, or export with the unreadable secrets skipped",
				ErrCorrupt, len(unreadable), strings.Join(unreadable, "; "))
		}
		rep.Skipped = unreadable
	}

	sw, err := opts.Sealer.Seal(w)
	if err != nil {
		return rep, err
	}
	bw := bufio.NewWriter(sw)
	bw.WriteString(backupMagic + "\n")
	var line []byte
	for _, r := range recs {
		line = appendBackupRecord(line[:0], &r)
		bw.Write(line)
	}
	clear(line)
	bw.WriteString("end " + strconv.Itoa(len(recs)) + "\n")
	if err := bw.Flush(); err != nil {
		return rep, fmt.Errorf("exporting: writing backup: %w", err)
	}
	if err := sw.Close(); err != nil {
		return rep, fmt.Errorf("exporting: writing backup: %w", err)
	}
	rep.Secrets = len(recs)
	return rep, nil
}

// inSealRange reports whether t is set and fits an envelope's int64 Unix
// nanoseconds.
func inSealRange(t time.Time) bool {
	return !t.IsZero() && !t.Before(time.Unix(0, math.MinInt64)) && !t.After(time.Unix(0, math.MaxInt64))
}

// appendBackupRecord appends r's line. Scope and key never need JSON
// escaping (their grammar is a subset of printable ASCII without quotes or
// backslashes), so the line is built here rather than by encoding/json,
// whose internal buffers would keep copies of the value.
func appendBackupRecord(b []byte, r *backupRecord) []byte {
	b = append(b, `{"scope":`...)
	b = appendJSONString(b, r.Scope)
	b = append(b, `,"key":`...)
	b = appendJSONString(b, r.Key)
	b = append(b, `,"created":"`...)
	b = r.Created.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","updated":"`...)
	b = r.Updated.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","value":"`...)
	b = base64.StdEncoding.AppendEncode(b, r.Value)
	return append(b, "\"}\n"...)
}

// appendJSONString appends s as a JSON string (RFC 8259): quoted, with '"',
// '\' and control characters escaped. A Palyra scope id may hold a '"'
// (docs/COMPAT.md, "Names"); every other byte of a valid name stays as it is.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// Import restores a backup written by Export into this vault, whatever its
// backend. It decrypts the backup with opts.Opener (required) and checks
// the whole of it first (the opener's authentication, the format, every
// scope and key, duplicates, the count, every value against this vault's
// size limits), so a wrong passphrase
// (ErrWrongPassphrase), a truncated or altered backup (ErrBadBackup) or a
// value too large (ErrTooLarge) imports nothing. Then, under the writer
// lock, it applies opts.OnConflict: "fail" (the default) writes nothing
// when any secret exists (ErrConflict, naming them), "skip" keeps existing
// secrets, "overwrite" replaces them. Secrets keep the creation and update
// times of the backup. Each write is atomic; a crash during the writes
// leaves the secrets written so far, and rerunning with "skip" or
// "overwrite" completes the import.
func (v *Vault) Import(ctx context.Context, r io.Reader, opts ImportOptions) (ImportReport, error) {
	var rep ImportReport
	switch opts.OnConflict {
	case "", OnConflictFail, OnConflictSkip, OnConflictOverwrite:
	default:
		return rep, fmt.Errorf("importing: on-conflict %q is not one of fail, skip, overwrite", truncate(opts.OnConflict))
	}
	recs, err := v.readBackup(r, opts)
	defer func() { wipeRecords(recs) }()
	if err != nil {
		return rep, err
	}

	unlock, err := v.lock(ctx)
	if err != nil {
		return rep, err
	}
	defer unlock()
	exists := make([]bool, len(recs))
	var conflicts []string
	for i, rec := range recs {
		_, err := v.header(ctx, envelope.ObjectID(rec.Scope, rec.Key))
		switch {
		case errors.Is(err, ErrNotFound):
		case err == nil || errors.Is(err, ErrCorrupt):
			exists[i] = true
			conflicts = append(conflicts, Ref{Scope: rec.Scope, Key: rec.Key}.String())
		default:
			return rep, fmt.Errorf("importing: checking %s: %w", Ref{Scope: rec.Scope, Key: rec.Key}, err)
		}
	}
	if len(conflicts) > 0 && (opts.OnConflict == "" || opts.OnConflict == OnConflictFail) {
		return rep, fmt.Errorf("%w: importing: %d secrets of the backup already exist, so nothing was imported: %s; choose to skip or overwrite them",
			ErrConflict, len(conflicts), strings.Join(conflicts, ", "))
	}
	for i := range recs {
		rec := &recs[i]
		if exists[i] && opts.OnConflict == OnConflictSkip {
			rep.Skipped++
			continue
		}
		h := envelope.Header{Scope: rec.Scope, Key: rec.Key, Created: rec.Created, Updated: rec.Updated}
		if err := v.store(ctx, h, rec.Value); err != nil {
			return rep, fmt.Errorf("importing %s (%d secrets were written before it): %w", Ref{Scope: rec.Scope, Key: rec.Key}, rep.Imported+rep.Overwritten, err)
		}
		if exists[i] {
			rep.Overwritten++
		} else {
			rep.Imported++
		}
	}
	return rep, nil
}

// readBackup decrypts and validates a whole backup.
func (v *Vault) readBackup(r io.Reader, opts ImportOptions) ([]backupRecord, error) {
	if opts.Opener == nil {
		return nil, errors.New("importing: nothing to decrypt the backup with (ImportOptions.Opener is nil); nothing was imported: " +
			"give an opener, such as backup.FromPassphrase or backup.FromIdentities of package vault/backup")
	}
	plain, err := opts.Opener.Open(r)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(io.LimitReader(plain, maxBackupSize+1), 64<<10)
	var recs []backupRecord
	seen := map[Ref]bool{}
	total := 0
	lineNo := 0
	fail := func(format string, args ...any) ([]backupRecord, error) {
		wipeRecords(recs)
		return nil, fmt.Errorf("%w: line %d: %s", ErrBadBackup, lineNo, fmt.Sprintf(format, args...))
	}
	var line []byte
	defer func() { clear(line) }()
	for {
		lineNo++
		clear(line)
		line, err = readBackupLine(br, line[:0])
		total += len(line)
		if total > maxBackupSize {
			return fail("backup larger than %d bytes", maxBackupSize)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fail("the backup ends without its end line (truncated)")
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				return fail("line longer than %d bytes", maxBackupLine)
			}
			return fail("decrypting: %v (the backup was truncated or altered)", err)
		}
		if lineNo == 1 {
			if string(line) != backupMagic {
				return fail("not a palyra-vault backup (first line %q)", truncate(string(line)))
			}
			continue
		}
		if n, ok := strings.CutPrefix(string(line), "end "); ok {
			if n != strconv.Itoa(len(recs)) {
				return fail("end line says %q secrets, the backup holds %d", truncate(n), len(recs))
			}
			break
		}
		var rec backupRecord
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&rec); err != nil || dec.InputOffset() != int64(len(line)) {
			clear(rec.Value)
			if err == nil {
				err = errors.New("data after the record")
			}
			return fail("not a secret record: %v", err)
		}
		recs = append(recs, rec)
		ref := Ref{Scope: rec.Scope, Key: rec.Key}
		if err := ref.Validate(); err != nil {
			return fail("%v", err)
		}
		if seen[ref] {
			return fail("%s appears twice", ref)
		}
		seen[ref] = true
		if !inSealRange(rec.Created) || !inSealRange(rec.Updated) {
			return fail("%s has a created or updated time that is missing or outside 1678..2262", ref)
		}
		if len(rec.Value) > v.info.MaxSecretSize {
			wipeRecords(recs)
			return nil, fmt.Errorf("%w: importing: %s is %d bytes, the vault's limit is %d; nothing was imported", ErrTooLarge, ref, len(rec.Value), v.info.MaxSecretSize)
		}
		if max := v.maxValueSize(rec.Scope, rec.Key); len(rec.Value) > max {
			wipeRecords(recs)
			return nil, fmt.Errorf("%w: importing: %s is %d bytes, the %s backend holds at most %d; nothing was imported", ErrTooLarge, ref, len(rec.Value), v.info.Backend, max)
		}
	}
	// Nothing may follow the end line; reading to EOF also makes the
	// opener (age) check the final chunk.
	if rest, err := br.Peek(1); len(rest) > 0 || (err != nil && !errors.Is(err, io.EOF)) {
		if err != nil {
			return fail("decrypting after the end line: %v (the backup was truncated or altered)", err)
		}
		return fail("data after the end line")
	}
	return recs, nil
}

// readBackupLine appends the next line of br, without its LF, to buf. The
// end of the backup before an LF is io.EOF (a backup always ends in LF).
func readBackupLine(br *bufio.Reader, buf []byte) ([]byte, error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxBackupLine {
			return buf, bufio.ErrBufferFull
		}
		buf = append(buf, chunk...)
		clear(chunk)
		switch {
		case err == nil:
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return buf, io.EOF
		default:
			return buf, err
		}
	}
}
