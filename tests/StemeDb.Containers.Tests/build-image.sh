#!/usr/bin/env bash
# Builds the image the container tests run, with no registry and no base image: a root filesystem with
# the .NET runtime, the published node and gateway apps and exactly the shared libraries they load,
# imported with `podman import`. The tag is the hash of the content, so an unchanged build is imported
# once and reused. Prints the tag as its last line.
set -euo pipefail
repo=${STEMEDB_REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
config=${1:-Release}
work=${STEMEDB_IMAGE_WORK:-${TMPDIR:-/tmp}/stemedb-image}
root=$work/rootfs
rm -rf "$work"
mkdir -p "$root"

# ReadyToRun (precompiled, as deploy/Dockerfile publishes): at a fraction of a core the JIT otherwise spends
# minutes compiling, a third of a capped node's CPU 30 s after start (README, "Scaling out").
publish=(-c "$config" -r linux-x64 --self-contained false -p:PublishReadyToRun=true --nologo -v q)
dotnet publish "$repo/src/StemeDb.Node" "${publish[@]}" -o "$root/app/node" >&2
dotnet publish "$repo/src/StemeDb.Gateway" "${publish[@]}" -o "$root/app/gateway" >&2
# Only Linux x64 native libraries are loaded in the container.
find "$root/app" -path '*/runtimes/*' -mindepth 3 -maxdepth 3 -type d ! -name 'linux-x64' -exec rm -rf {} +

# The shared runtime the apps were built against, from this SDK's own installation.
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
fx=$(sed -n 's/.*"version": "\([0-9.]*\)".*/\1/p' "$root/app/node/StemeDb.Node.runtimeconfig.json" | head -1)
netcore=$(ls "$dotnet_root/shared/Microsoft.NETCore.App" | grep "^${fx%.*}\." | sort -V | tail -1)
aspnet=$(ls "$dotnet_root/shared/Microsoft.AspNetCore.App" | grep "^${fx%.*}\." | sort -V | tail -1)
mkdir -p "$root/usr/share/dotnet/shared/Microsoft.NETCore.App" "$root/usr/share/dotnet/shared/Microsoft.AspNetCore.App" "$root/usr/bin"
cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$root/usr/share/dotnet/"
cp -a "$dotnet_root/shared/Microsoft.NETCore.App/$netcore" "$root/usr/share/dotnet/shared/Microsoft.NETCore.App/"
cp -a "$dotnet_root/shared/Microsoft.AspNetCore.App/$aspnet" "$root/usr/share/dotnet/shared/Microsoft.AspNetCore.App/"
ln -s /usr/share/dotnet/dotnet "$root/usr/bin/dotnet"

# libfaketime (Debian's libfaketime package), preloaded into a node started with a skewed clock
# (LD_PRELOAD + FAKETIME); copied before the scan below, so the libraries it links to come along.
faketime=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1
[ -f "$faketime" ] || { echo "$faketime is missing: apt-get install libfaketime" >&2; exit 1; }
cp --parents -L "$faketime" "$root"

# Every library an ELF file here links to, plus OpenSSL, which .NET's crypto (SWIM's HMAC) opens with dlopen.
libs=$(find "$root" -type f \( -name '*.so' -o -name '*.so.*' -o -name dotnet \) -exec ldd {} \; 2>/dev/null | grep -o '/[^ ]*' | grep -v "^$root/" | sort -u)
for lib in $libs $(ldconfig -p | grep -oE '/[^ ]*lib(ssl|crypto)\.so\.3$' | sort -u); do
    cp --parents -L "$lib" "$root"
done
mkdir -p "$root/tmp" "$root/data" "$root/etc"
chmod 1777 "$root/tmp"
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"

hash=$( (cd "$root" && find . \( -type f -o -type l \) -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
tag="localhost/stemedb-test:$hash"
if ! podman image exists "$tag"; then
    tar -C "$root" -cf "$work/rootfs.tar" .
    podman import \
        --change 'ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1' \
        --change 'ENV DOTNET_EnableDiagnostics=0' \
        --change 'ENV HOME=/tmp' \
        --change 'WORKDIR /app' \
        "$work/rootfs.tar" "$tag" >&2
    rm -f "$work/rootfs.tar"
fi
echo "$tag"
