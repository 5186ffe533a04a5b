package secret

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// KeyFile is the key file's name in the data directory.
const KeyFile = "secret.key"

// Source says where a Box's key came from (for the start-up log).
type Source string

// Where a key comes from.
const (
	FromEnv       Source = "MICROSHOP_SECRET_KEY"
	FromFile      Source = "key file"
	FromNewFile   Source = "new key file"
	FromEphemeral Source = "ephemeral"
)

// Load is the platform's Box: from envKey (MICROSHOP_SECRET_KEY, base64 of
// 32 bytes) when it is set; else from dir/secret.key, generated once with
// mode 0600 when it does not exist (several processes starting at once
// agree on one: the first to create it wins); with neither (dir empty)
// one key for the process's life (for tests: every Load in the process
// gets the same).
func Load(envKey, dir string) (*Box, Source, string, error) {
	if envKey != "" {
		b, err := Parse(envKey)
		if err != nil {
			return nil, "", "", fmt.Errorf("MICROSHOP_SECRET_KEY: %w", err)
		}
		return b, FromEnv, "", nil
	}
	if dir == "" {
		b, err := processKey()
		return b, FromEphemeral, "", err
	}
	path := filepath.Join(dir, KeyFile)
	src := FromFile
	text, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		text, err = createKeyFile(path)
		src = FromNewFile
	}
	if err != nil {
		return nil, "", path, fmt.Errorf("secret key file %s: %w", path, err)
	}
	b, err := Parse(string(text))
	if err != nil {
		return nil, "", path, fmt.Errorf("secret key file %s: %w", path, err)
	}
	return b, src, path, nil
}

// createKeyFile writes a new random key to path (0600), unless another
// process created it first: then that one is read. The key is written to
// a temporary file and linked into place, so no process ever reads a
// half-written key.
func createKeyFile(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, KeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	text := []byte(base64.StdEncoding.EncodeToString(key) + "\n")
	f, err := os.CreateTemp(dir, KeyFile+".*")
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	_, err = f.Write(text)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if err := os.Link(tmp, path); errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path)
	} else if err != nil {
		return nil, err
	}
	return text, nil
}

var process struct {
	once sync.Once
	box  *Box
	err  error
}

// processKey is the process's own key, made on first use.
func processKey() (*Box, error) {
	process.once.Do(func() {
		key := make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			process.err = err
			return
		}
		process.box, process.err = New(key)
	})
	return process.box, process.err
}
