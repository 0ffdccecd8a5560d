//! Checking proofs with nothing but hashes (RFC 9162 §2.1.3.2, §2.1.4.2).

use super::node_hash;
use crate::error::{Error, Result};
use crate::hash::Hash;

fn failed(reason: impl Into<String>) -> Error {
    Error::Verification(reason.into())
}

/// The root that an inclusion proof for the leaf hash `leaf` at `index` in
/// a tree of `size` leaves leads to.
pub fn root_from_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash]) -> Result<Hash> {
    if index >= size {
        return Err(failed(format!(
            "leaf index {index} is not in a tree of size {size}"
        )));
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut root = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(failed("inclusion proof is longer than the tree is deep"));
        }
        if fnode & 1 == 1 || fnode == snode {
            root = node_hash(p, &root);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            root = node_hash(&root, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(failed("inclusion proof is shorter than the tree is deep"));
    }
    Ok(root)
}

/// Checks that `proof` proves the leaf hash `leaf` is number `index` in
/// the tree of `size` leaves whose root is `root`.
pub fn inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> Result<()> {
    if root_from_inclusion(index, size, leaf, proof)? != *root {
        return Err(failed(format!(
            "inclusion proof of leaf {index} does not lead to the root of the tree of size {size}"
        )));
    }
    Ok(())
}

/// Checks that `proof` proves the tree of `old_size` leaves with root
/// `old_root` is a prefix of the tree of `size` leaves with root `root`.
pub fn consistency(
    old_size: u64,
    size: u64,
    old_root: &Hash,
    root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    if old_size > size {
        return Err(failed(format!(
            "tree size {old_size} is larger than {size}: a log only grows"
        )));
    }
    if old_size == size {
        if !proof.is_empty() {
            return Err(failed("a consistency proof between equal sizes is empty"));
        }
        if old_root != root {
            return Err(failed(format!("two different roots for tree size {size}")));
        }
        return Ok(());
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(failed("a consistency proof from the empty tree is empty"));
        }
        return Ok(());
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err(failed("consistency proof is empty"));
    };
    let (mut fnode, mut snode) = (old_size - 1, size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return Err(failed("consistency proof is longer than the tree is deep"));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(failed("consistency proof is shorter than the tree is deep"));
    }
    if fr != *old_root {
        return Err(failed(format!(
            "consistency proof does not lead to the root of the tree of size {old_size}"
        )));
    }
    if sr != *root {
        return Err(failed(format!(
            "consistency proof does not lead to the root of the tree of size {size}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::proof::{self, InMemory};
    use super::super::{leaf_hash, root_of};
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn every_inclusion_and_consistency_proof_up_to_40_leaves() {
        let all = leaves(40);
        for size in 1..=40u64 {
            let tree = &all[..size as usize];
            let root = root_of(tree);
            let mut src = InMemory(tree);
            assert_eq!(proof::range_hash(&mut src, 0, size).unwrap(), root);
            for index in 0..size {
                let p = proof::inclusion(&mut src, index, size).unwrap();
                inclusion(index, size, &tree[index as usize], &p, &root).unwrap();
                // A wrong leaf, a wrong index, a wrong size all fail.
                let other = leaf_hash(b"other");
                assert!(inclusion(index, size, &other, &p, &root).is_err());
                if size > 1 {
                    let wrong = (index + 1) % size;
                    assert!(inclusion(wrong, size, &tree[index as usize], &p, &root).is_err());
                }
                if size < 40 {
                    let bigger = root_of(&all[..size as usize + 1]);
                    assert!(
                        inclusion(index, size + 1, &tree[index as usize], &p, &bigger).is_err()
                    );
                }
            }
            for old in 0..=size {
                let old_root = root_of(&tree[..old as usize]);
                let p = proof::consistency(&mut src, old, size).unwrap();
                consistency(old, size, &old_root, &root, &p).unwrap();
                if old > 0 && old < size {
                    let bad = leaf_hash(b"bad");
                    assert!(consistency(old, size, &bad, &root, &p).is_err());
                    assert!(consistency(old, size, &old_root, &bad, &p).is_err());
                    let mut cut = p.clone();
                    cut.pop();
                    assert!(consistency(old, size, &old_root, &root, &cut).is_err());
                }
            }
        }
    }
}
