// Package deploy holds no code: its folder keeps the examples of running
// karkas as a service (systemd/, kubernetes/, the karkas.yaml both run), and
// its tests check them as far as they can be checked without a cluster or a
// booted systemd (README.md says what is and is not). It imports nothing of
// karkas but mapping, to read the example config as karkas does.
package deploy
