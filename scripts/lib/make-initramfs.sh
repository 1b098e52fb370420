#!/bin/sh
# make-initramfs.sh KREL: build (once) the initramfs of pyscope's guest and
# print its path.  It holds static busybox, the modules needed to mount the
# host's root over virtio-9p with an overlay, and scripts/lib/guest-init.
set -eu
PYSCOPE_PROG=make-initramfs
. "$(dirname -- "$0")/common.sh"
krel=$1
mods="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev
virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay"
bb=/bin/busybox
[ -x "$bb" ] && file_is_static=$(ldd "$bb" 2>&1 | grep -c 'not a dynamic') || true
[ "${file_is_static:-0}" -ge 1 ] || pyscope_die "static busybox not found (apt-get install busybox-static)"
key=$( (cat "$PYSCOPE_ROOT/scripts/lib/guest-init" "$0"; echo "$krel"; ls -l "$bb") | md5sum | cut -c1-12)
out=$PYSCOPE_STATE/guest/initrd-$krel-$key.cpio.gz
if [ ! -f "$out" ]; then
    mkdir -p "$PYSCOPE_STATE/guest"
    tmp=""
    trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
    pyscope_signal_traps
    tmp=$(mktemp -d) || pyscope_die "cannot create a temporary directory"
    mkdir -p "$tmp/bin" "$tmp/lib/pyscope-modules" "$tmp/proc" "$tmp/sys" "$tmp/dev"
    cp "$bb" "$tmp/bin/busybox"
    for m in $mods; do
        f=$(find "/lib/modules/$krel/kernel" -name "$m.ko*" | head -n 1)
        [ -n "$f" ] || continue
        case "$f" in
            *.ko.xz) xz -dc "$f" > "$tmp/lib/pyscope-modules/$m.ko" ;;
            *.ko.zst) zstd -qdc "$f" > "$tmp/lib/pyscope-modules/$m.ko" ;;
            *.ko.gz) gzip -dc "$f" > "$tmp/lib/pyscope-modules/$m.ko" ;;
            *) cp "$f" "$tmp/lib/pyscope-modules/$m.ko" ;;
        esac
    done
    cp "$PYSCOPE_ROOT/scripts/lib/guest-init" "$tmp/init"
    chmod 755 "$tmp/init"
    (cd "$tmp" && find . | cpio -o -H newc --quiet | gzip -1) > "$out.tmp"
    mv "$out.tmp" "$out"
fi
printf '%s\n' "$out"
