package agent

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// syncFilesystem makes everything written to the filesystem holding dir
// durable with one syncfs(2): data, new directory entries and renames
// alike, however many files a group commit touched.
func syncFilesystem(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return nil
}
